using Microsoft.ML.Peft.Models.Common;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Models.Common;

/// <summary><see cref="RowLinear"/> is the module's own output, reshaped, with its hooks run on the row view.</summary>
public sealed class RowLinearTests
{
    [Fact]
    public void Three_d_input_gives_the_modules_output_and_gradients()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(3);
        var linear = nn.Linear(6, 4);
        var x = randn(2, 5, 6, requires_grad: true);
        var ours = RowLinear.Call(linear, x);
        Assert.Equal(new long[] { 2, 5, 4 }, ours.shape);
        var oursGrads = autograd.grad(new[] { ours.square().sum() }, new[] { x, linear.weight!, linear.bias! });

        var reference = linear.call(x);
        var referenceGrads = autograd.grad(new[] { reference.square().sum() }, new[] { x, linear.weight!, linear.bias! });
        Assert.True(ours.allclose(reference, rtol: 1e-6, atol: 1e-6));
        for (int i = 0; i < 3; i++) Assert.True(oursGrads[i].allclose(referenceGrads[i], rtol: 1e-5, atol: 1e-6), $"gradient {i}");
    }

    [Fact]
    public void Forward_hooks_run_on_the_row_view_and_shape_the_result()
    {
        using var scope = NewDisposeScope();
        var linear = nn.Linear(3, 2);
        long[]? seen = null;
        linear.register_forward_hook((_, input, output) =>
        {
            seen = input.shape;
            return output + 1;  // an adapter's term
        });
        var x = randn(4, 2, 3);
        using var plain = no_grad();
        var ours = RowLinear.Call(linear, x);
        Assert.Equal(new long[] { 8, 3 }, seen);
        Assert.True(ours.allclose(nn.functional.linear(x, linear.weight!, linear.bias!) + 1, rtol: 1e-6, atol: 1e-6));
    }

    [Fact]
    public void Non_contiguous_and_2d_inputs_are_passed_as_they_are()
    {
        using var scope = NewDisposeScope();
        var linear = nn.Linear(3, 2);
        var shapes = new List<long[]>();
        linear.register_forward_hook((_, input, output) => { shapes.Add(input.shape); return output; });
        using var plain = no_grad();
        var transposed = randn(3, 4, 2).transpose(0, 2);  // (2, 4, 3), not contiguous
        Assert.Equal(new long[] { 2, 4, 2 }, RowLinear.Call(linear, transposed).shape);
        Assert.Equal(new long[] { 5, 2 }, RowLinear.Call(linear, randn(5, 3)).shape);
        Assert.Equal(new long[] { 2, 4, 3 }, shapes[0]);
        Assert.Equal(new long[] { 5, 3 }, shapes[1]);
    }
}
