using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Peft.Training;

/// <summary>
/// The bf16 recipe, kept modest: the estimator casts the whole module to bf16 <em>before</em> taking its named
/// parameters (TorchSharp's <c>Module.to</c> replaces parameter objects), so frozen weights use half the memory
/// and matmuls run on bf16 hardware; the trainer then gives every bf16 trainable parameter an fp32 master copy
/// and fp32 moments inside <see cref="AdamW"/>, measures gradient norms in fp32, and reports the loss in fp32.
/// Trainable parameters may also be left in fp32 (a mixed module) as long as the model casts activations where
/// the two meet; the trainer handles any mix.
/// </summary>
public static class MixedPrecision
{
    /// <summary>Casts every parameter and buffer of <paramref name="module"/> to bf16 and returns it.</summary>
    public static T ToBFloat16<T>(T module) where T : nn.Module
    {
        module.to(ScalarType.BFloat16);
        return module;
    }

    /// <summary>The same for a plain module reference.</summary>
    public static nn.Module ToBFloat16(nn.Module module) => ToBFloat16<nn.Module>(module);
}
