import Foundation

/// What the processor can do, asked once at start-up.
///
/// The package is compiled for a baseline every x86-64 laptop has (AVX2 + FMA);
/// the matmul tile has a second, twice-as-wide version for CPUs with AVX-512
/// (module KernelsAVX512), used only when this says the CPU has it.
public enum CPU {
    /// True on x86-64 Linux when the kernel reports the AVX-512 foundation, DQ, BW and
    /// VL extensions (what the KernelsAVX512 module is compiled for). Setting the
    /// environment variable TINYGPT_NO_AVX512=1 turns it off.
    public static let hasAVX512: Bool = {
        #if arch(x86_64) && os(Linux)
        if ProcessInfo.processInfo.environment["TINYGPT_NO_AVX512"] == "1" { return false }
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flagsLine = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return false }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        return ["avx512f", "avx512dq", "avx512bw", "avx512vl"].allSatisfy(flags.contains)
        #else
        return false
        #endif
    }()

    /// Whether gemm uses the AVX-512 tile. Starts as `hasAVX512`; tests switch it off
    /// to check that both tiles give the same bits. Setting it true on a CPU without
    /// AVX-512 has no effect.
    nonisolated(unsafe) public static var useAVX512: Bool = hasAVX512
}
