import Testing
import Curriculum

@Suite("chunks(of:)")
struct ChunksTests {
    @Test("consecutive pieces of the size, the last one shorter, nothing lost or repeated")
    func pieces() {
        #expect(Array(0..<7).chunks(of: 3) == [[0, 1, 2], [3, 4, 5], [6]])
        #expect(Array(0..<6).chunks(of: 3) == [[0, 1, 2], [3, 4, 5]])
        #expect([Int]().chunks(of: 4).isEmpty)
        #expect(Array(0..<100).chunks(of: 64).flatMap { $0 } == Array(0..<100))
    }
}
