namespace Microsoft.ML.Peft.Tests.Onnx;

/// <summary>Array-shaped views of an imported checkpoint, read through the library's safetensors reader.</summary>
public sealed class ImportedWeights : IDisposable
{
    readonly Microsoft.ML.Peft.Checkpoints.SafeTensorsFile _file;

    public ImportedWeights(string path) => _file = Microsoft.ML.Peft.Checkpoints.SafeTensorsFile.Open(path);

    public List<string> Names => _file.Keys.ToList();
    public long[] Shape(string name) => _file.GetEntry(name).Shape.ToArray();
    public string DType(string name) => _file.GetEntry(name).DTypeName;

    public float[] Floats(string name)
    {
        using var tensor = _file.ReadTensor(name);
        return tensor.data<float>().ToArray();
    }

    public void Dispose() => _file.Dispose();
}
