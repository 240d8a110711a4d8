namespace Microsoft.ML.Peft.Onnx.MiniLm;

/// <summary>
/// An exclusive lock file (left in place: deleting it on release would let two waiters lock different files), so that processes (and threads) sharing a cache convert the model once
/// instead of racing to rename their folders into the same place.
/// </summary>
internal static class CacheLock
{
    /// <summary>Waits up to <paramref name="timeout"/> (default 10 minutes) for the lock and returns it; dispose to release.</summary>
    public static IDisposable Acquire(string path, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromMinutes(10));
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(200);
            }
        }
    }
}
