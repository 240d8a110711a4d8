using Microsoft.ML.Peft.Training;

namespace Microsoft.ML.Peft.Tests.Training;

public class MemoryReportParsingTests
{
    [Theory]
    [InlineData("VmRSS:\t  123456 kB", 123456)]
    [InlineData("VmHWM:\t10485760 kB", 10485760)]   // 10 GiB: no space left between the tab and the number
    public void Status_lines_parse_with_or_without_padding(string line, long expected) =>
        Assert.Equal(expected, MemoryReport.KiloBytes(line));
}
