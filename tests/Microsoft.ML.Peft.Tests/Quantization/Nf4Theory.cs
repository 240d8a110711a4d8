namespace Microsoft.ML.Peft.Tests.Quantization;

/// <summary>
/// The NF4 round-trip error of N(0, 1) weights predicted by numerical integration, independent of the
/// library (its own copy of the published code values, scalar nearest-code search, no torch).
/// </summary>
static class Nf4Theory
{
    public static readonly double[] Codes =
    {
        -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
        -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
        0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
        0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
    };

    /// <summary>Nearest code value by a plain linear search.</summary>
    public static double Nearest(double u)
    {
        double best = Codes[0];
        foreach (double c in Codes)
            if (Math.Abs(u - c) < Math.Abs(u - best)) best = c;
        return best;
    }

    /// <summary>
    /// E|x - q(x)| for iid N(0,1) weights in blocks of n. Given the block's absmax M = m, the element that
    /// attains it is stored exactly (code ±1), and the other n-1 are iid N(0,1) conditioned on |x| &lt; m.
    /// With P(m) = P(|x| &lt; m) = erf(m/√2) and M's density n·2φ(m)·P(m)^(n-1):
    ///   MAE = ∫ (n-1)·2φ(m)·P(m)^(n-2)·G(m) dm,   G(m) = ∫_{-m}^{m} |x - m q(x/m)| φ(x) dx = m² ∫_{-1}^{1} |u - q(u)| φ(mu) du.
    /// The inner integrand is smooth between the codes and the midpoints, so it is integrated piecewise.
    /// </summary>
    public static double ExpectedMae(int n)
    {
        // Break points of |u - q(u)|: the codes (zero error) and the midpoints (where q jumps).
        var breaks = Codes.Concat(Codes.Zip(Codes.Skip(1), (a, b) => (a + b) / 2)).Order().ToArray();
        double G(double m)
        {
            double sum = 0;
            for (int i = 0; i + 1 < breaks.Length; i++)
                sum += Simpson(u => Math.Abs(u - Nearest(u)) * Phi(m * u), breaks[i], breaks[i + 1], 16);
            return m * m * sum;
        }
        return Simpson(m => (n - 1) * 2 * Phi(m) * Math.Pow(Erf(m / Math.Sqrt(2)), n - 2) * G(m), 1e-9, 8.0, 2000);
    }

    static double Phi(double x) => Math.Exp(-x * x / 2) / Math.Sqrt(2 * Math.PI);

    // Composite Simpson rule with an even number of intervals.
    static double Simpson(Func<double, double> f, double a, double b, int intervals)
    {
        double h = (b - a) / intervals, sum = f(a) + f(b);
        for (int i = 1; i < intervals; i++) sum += f(a + i * h) * (i % 2 == 1 ? 4 : 2);
        return sum * h / 3;
    }

    // Abramowitz & Stegun 7.1.26, absolute error below 1.5e-7 (a 62nd power only multiplies the relative error by 62).
    static double Erf(double x)
    {
        double t = 1 / (1 + 0.3275911 * x);
        double poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
        return 1 - poly * Math.Exp(-x * x);
    }
}
