namespace Microsoft.ML.Peft.Methods;

/// <summary>An <see cref="IDisposable"/> that runs an action once, on the first dispose (disable scopes).</summary>
internal sealed class ActionScope(Action onDispose) : IDisposable
{
    Action? action = onDispose;

    public void Dispose()
    {
        action?.Invoke();
        action = null;
    }
}
