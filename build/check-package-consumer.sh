#!/usr/bin/env bash
# Proves that an app consuming the Microsoft.ML.Peft NuGet package gets the Debian 12 loader fix through
# buildTransitive: pack the library, build and publish a throwaway console app against it, run both.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d -t peft-consumer.XXXX)"
trap 'rm -rf "$work"' EXIT
dotnet pack "$root/src/Microsoft.ML.Peft" -o "$work/feed" -p:PackageVersion=0.0.0-ci --nologo -v q
mkdir "$work/app"
cat > "$work/app/app.csproj" <<'XML'
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework><ImplicitUsings>enable</ImplicitUsings>
    <ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally></PropertyGroup>
  <ItemGroup>
    <PackageReference Include="Microsoft.ML.Peft" Version="0.0.0-ci" />
    <PackageReference Include="libtorch-cpu-linux-x64" Version="2.10.0" />
  </ItemGroup>
</Project>
XML
echo 'using static TorchSharp.torch; using var a = ones(3, 3); Console.WriteLine($"consumer: torch sum = {a.sum().item<float>()}");' > "$work/app/Program.cs"
cat > "$work/app/nuget.config" <<XML
<configuration><packageSources><add key="peft" value="$work/feed" /></packageSources></configuration>
XML
# The app lives outside the repository so none of our Directory.Build.* files apply to it.
for f in Directory.Build.props Directory.Build.targets Directory.Packages.props; do echo '<Project/>' > "$work/$f"; done
export NUGET_PACKAGES="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
# NuGet caches a package by version: drop any earlier pack of 0.0.0-ci so this run tests this tree.
rm -rf "$NUGET_PACKAGES/microsoft.ml.peft/0.0.0-ci"
(cd "$work/app" && dotnet build --nologo -v q && dotnet run --no-build && dotnet publish -o "$work/pub" --nologo -v q && dotnet "$work/pub/app.dll")
rm -rf "$NUGET_PACKAGES/microsoft.ml.peft/0.0.0-ci"
