namespace Microsoft.ML.Peft.Onnx;

/// <summary>
/// Thrown when an ONNX graph does not have the structure the importer looks for; the message names the
/// block and the structure that was not found (for example "layer 3: no Softmax after the QK^T MatMul").
/// </summary>
public sealed class OnnxGraphMismatchException : FormatException
{
    /// <summary>Creates the exception with a message that says which structure was not found.</summary>
    /// <param name="message">What was looked for and where.</param>
    public OnnxGraphMismatchException(string message) : base(message) { }
}
