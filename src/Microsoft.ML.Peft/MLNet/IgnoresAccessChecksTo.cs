// ML.NET keeps its model persistence API internal (ModelSaveContext's members, ModelLoadContext, VersionInfo,
// LoadableClassAttribute). The library compiles against a publicized reference copy of Microsoft.ML.Core
// (build/Publicize.targets); at run time the real assembly is loaded, and this attribute tells the .NET runtime
// to skip its access checks for our calls into it. A rename on ML.NET's side therefore breaks our build, never
// a user's running app.
[assembly: System.Runtime.CompilerServices.IgnoresAccessChecksTo("Microsoft.ML.Core")]

namespace System.Runtime.CompilerServices
{
    /// <summary>
    /// Read by the .NET runtime (not shipped in the BCL): the assembly carrying it may use non-public types and
    /// members of the named assembly.
    /// </summary>
    [AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
    internal sealed class IgnoresAccessChecksToAttribute : Attribute
    {
        /// <summary>Declares that access checks into <paramref name="assemblyName"/> are skipped.</summary>
        public IgnoresAccessChecksToAttribute(string assemblyName) => AssemblyName = assemblyName;

        /// <summary>The simple name of the assembly whose internals this assembly uses.</summary>
        public string AssemblyName { get; }
    }
}
