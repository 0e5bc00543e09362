// swift-tools-version:6.0
//
// One tiny decoder-only transformer, written from scratch, taken through the
// whole modern training curriculum. No packages: Foundation, Dispatch and
// Swift Testing only (plus the standard library's `Synchronization` atomics,
// which the kernels' helper thread spins on).

import PackageDescription

/// Hot code (kernels, the model, the trainers) is optimised even in the
/// default debug build, so `swift run lesson01-pretrain` is as fast as a
/// release build. Whole-module: a debug build otherwise compiles file by file,
/// and small helpers from another file (load8, exp8) become calls instead of
/// inlined instructions. (-num-threads keeps one object file per source file,
/// which the debug build's index needs; -disable-batch-mode only silences a
/// warning about a flag -wmo overrides.)
let debugOptimised = ["-O", "-wmo", "-num-threads", "2", "-disable-batch-mode"]
/// On x86-64 we also let the compiler use AVX2 + FMA (the "haswell" CPU level,
/// which every x86-64 laptop and server since about 2015 has); without it SIMD
/// multiply-adds become slow library calls.
#if arch(x86_64)
let cpuFlags = ["-target-cpu", "haswell"]
#else
let cpuFlags: [String] = []
#endif
let hot: [SwiftSetting] = [
    .unsafeFlags(debugOptimised + cpuFlags, .when(configuration: .debug)),
    .unsafeFlags(cpuFlags, .when(configuration: .release)),
]
/// The one module compiled for AVX-512: the wide matmul tile. Kernels calls it only
/// after checking at run time that the CPU has AVX-512, so the package still runs on
/// any x86-64 (and the flag is left out on other architectures).
#if arch(x86_64)
let avx512Flags = ["-target-cpu", "skylake-avx512"]
#else
let avx512Flags: [String] = []
#endif
let hotAVX512: [SwiftSetting] = [
    .unsafeFlags(debugOptimised + avx512Flags, .when(configuration: .debug)),
    .unsafeFlags(avx512Flags, .when(configuration: .release)),
]

/// A lesson is an executable in Lessons/<name>/main.swift.
func lesson(_ name: String) -> Target {
    .executableTarget(
        name: name,
        dependencies: ["Curriculum", "Notebook", "TinyGPT", "Kernels"],
        path: "Lessons/\(name)")
}

let package = Package(
    name: "TinyCurriculum",
    products: [
        .library(name: "Kernels", targets: ["Kernels"]),
        .library(name: "TinyGPT", targets: ["TinyGPT"]),
        .library(name: "Curriculum", targets: ["Curriculum"]),
        .library(name: "Notebook", targets: ["Notebook"]),
        .executable(name: "lesson00-transformer", targets: ["lesson00-transformer"]),
        .executable(name: "lesson01-pretrain", targets: ["lesson01-pretrain"]),
        .executable(name: "lesson02-midtrain", targets: ["lesson02-midtrain"]),
        .executable(name: "lesson03-sft", targets: ["lesson03-sft"]),
        .executable(name: "lesson04-dpo", targets: ["lesson04-dpo"]),
        .executable(name: "lesson05-rlvr", targets: ["lesson05-rlvr"]),
        .executable(name: "lesson06-compare", targets: ["lesson06-compare"]),
        .executable(name: "lesson07-ablations", targets: ["lesson07-ablations"]),
        .executable(name: "lesson08-tools", targets: ["lesson08-tools"]),
        .executable(name: "course", targets: ["course"]),
        .executable(name: "chat", targets: ["chat"]),
        .executable(name: "bench", targets: ["bench"]),
        .executable(name: "make-data", targets: ["make-data"]),
    ],
    targets: [
        // Libraries, dependencies pointing one way: KernelsAVX512 <- Kernels <- TinyGPT <- Curriculum.
        .target(name: "KernelsAVX512", swiftSettings: hotAVX512),
        .target(name: "Kernels", dependencies: ["KernelsAVX512"], swiftSettings: hot),
        .target(name: "TinyGPT", dependencies: ["Kernels"], swiftSettings: hot),
        .target(name: "Curriculum", dependencies: ["TinyGPT", "Kernels", "Notebook"], swiftSettings: hot),
        .target(name: "Notebook"),

        // Tools.
        .executableTarget(name: "bench", dependencies: ["TinyGPT", "Kernels", "Notebook"], swiftSettings: hot),
        .executableTarget(name: "make-data", dependencies: ["Curriculum", "Notebook"]),
        .executableTarget(name: "chat", dependencies: ["Curriculum", "TinyGPT", "Kernels", "Notebook"]),
        .executableTarget(name: "course", dependencies: ["Curriculum", "Notebook"]),

        // The lessons, in course order.
        lesson("lesson00-transformer"),
        lesson("lesson01-pretrain"),
        lesson("lesson02-midtrain"),
        lesson("lesson03-sft"),
        lesson("lesson04-dpo"),
        lesson("lesson05-rlvr"),
        lesson("lesson06-compare"),
        lesson("lesson07-ablations"),
        lesson("lesson08-tools"),

        // Tests: kernels and model, the toy world, the runner, one suite per lesson.
        .target(name: "TestSupport", dependencies: ["Kernels"], path: "Tests/TestSupport"),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "TestSupport"]),
        .testTarget(name: "TinyGPTTests", dependencies: ["TinyGPT", "Kernels", "TestSupport"]),
        .testTarget(name: "CurriculumTests", dependencies: ["Curriculum", "TinyGPT", "Kernels"]),
        .testTarget(name: "NotebookTests", dependencies: ["Notebook"]),
        .testTarget(name: "LessonTests", dependencies: ["Curriculum", "TinyGPT", "Kernels", "Notebook"]),
    ],
    swiftLanguageModes: [.v5]
)
