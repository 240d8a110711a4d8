using Microsoft.ML.Peft.Methods.Lora;
using Microsoft.ML.Peft.Tests.Onnx;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Tests.Methods.Lora;

public class LoraMiniLmTests : IClassFixture<MiniLmFixture>
{
    readonly MiniLmFixture _fx;

    public LoraMiniLmTests(MiniLmFixture fx) => _fx = fx;

    [Fact]
    public void Rank_8_on_query_and_value_of_MiniLM_trains_exactly_73728_parameters()
    {
        using var scope = NewDisposeScope();
        var encoder = PretrainedModel.FromDirectory(_fx.Folder).LoadEncoder();
        long baseTotal = encoder.parameters().Sum(p => p.numel());
        var ids = tensor(new long[] { 101, 2023, 2003, 2019, 2742, 6251, 102 }, new long[] { 1, 7 });
        Tensor Hidden() { using var _ = no_grad(); return encoder.forward(ids).LastHiddenState; }
        var before = Hidden();

        var lora = LoraModel.Create(encoder, new LoraOptions { Rank = 8, Alpha = 16 });
        var count = lora.TrainableParameters();

        Assert.Equal(6 * 2 * (8 * 384 + 384 * 8), count.Trainable);  // 73,728
        Assert.Equal(baseTotal + 73_728, count.Total);
        Assert.Null(lora.GetOptions().TaskType);
        Assert.Empty(lora.GetOptions().ModulesToSave!);
        Assert.StartsWith("trainable params: 73,728 || all params: ", count.ToString());
        Assert.True(before.eq(Hidden()).all().item<bool>());
    }
}
