namespace Microsoft.ML.Peft.Tests; public class TorchLoadsTests { [Fact] public void Adds() { using var a = TorchSharp.torch.ones(2,2); Assert.Equal(4f, a.sum().item<float>()); } }
