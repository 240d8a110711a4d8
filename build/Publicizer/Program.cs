using Mono.Cecil;

// Publicizer IN.dll OUT.dll
// Writes OUT.dll: IN.dll with every type, method and field public. The copy is only ever a compile-time
// reference (the real assembly is what ships and loads); the runtime lets the compiled code through because
// the library declares [assembly: IgnoresAccessChecksTo(...)] for the same assembly.
if (args.Length != 2)
{
    Console.Error.WriteLine("usage: Publicizer <input.dll> <output.dll>");
    return 2;
}

string input = args[0], output = args[1];
Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
using (var assembly = AssemblyDefinition.ReadAssembly(input, new ReaderParameters { ReadSymbols = false }))
{
    int changed = 0;
    foreach (var type in assembly.MainModule.GetTypes())
        changed += Publicize(type);
    // Write to a temporary name first so an interrupted build never leaves a half-written reference behind.
    string temp = output + ".tmp";
    assembly.Write(temp);
    File.Move(temp, output, overwrite: true);
    Console.WriteLine($"Publicizer: {Path.GetFileName(input)} -> {output} ({changed} members made public)");
}
return 0;

static int Publicize(TypeDefinition type)
{
    int changed = 0;
    if (type.IsNested ? !type.IsNestedPublic : !type.IsPublic)
    {
        type.Attributes = (type.Attributes & ~TypeAttributes.VisibilityMask)
            | (type.IsNested ? TypeAttributes.NestedPublic : TypeAttributes.Public);
        changed++;
    }

    // Field-like events have a private backing field of the same name; making it public would make every use
    // of the event ambiguous for the compiler, so those fields (and other compiler-generated ones) stay as they are.
    var eventNames = new HashSet<string>(type.Events.Select(e => e.Name));
    foreach (var field in type.Fields)
    {
        if (field.IsPublic || eventNames.Contains(field.Name) || IsCompilerGenerated(field))
            continue;
        field.Attributes = (field.Attributes & ~FieldAttributes.FieldAccessMask) | FieldAttributes.Public;
        changed++;
    }

    foreach (var method in type.Methods)
    {
        if (method.IsPublic)
            continue;
        // A virtual method overridden elsewhere must keep its accessibility in step with its overrides, and
        // explicit interface implementations have unspeakable names anyway: leave both alone.
        if (method.IsVirtual && (method.IsFamily || method.IsFamilyOrAssembly || method.IsPrivate))
            continue;
        method.Attributes = (method.Attributes & ~MethodAttributes.MemberAccessMask) | MethodAttributes.Public;
        changed++;
    }
    return changed;
}

static bool IsCompilerGenerated(ICustomAttributeProvider member) =>
    member.CustomAttributes.Any(a => a.AttributeType.FullName == "System.Runtime.CompilerServices.CompilerGeneratedAttribute");
