import SFGitMemory
import Foundation
let path = CommandLine.arguments[1]
var bytes = [UInt8](try! Data(contentsOf: URL(fileURLWithPath: path)))
if CommandLine.arguments.count > 2 { bytes = Array(bytes[..<(Int(CommandLine.arguments[2])! % bytes.count)]) }
do {
  let m = try MemoryParser().parse(bytes).memory
  let w = try MemorySerializer().serialize(m)
  print(String(decoding: w, as: UTF8.self))
  let m2 = try MemoryParser().parse(w).memory
  print(m2 == m)
  if m2 != m { print(m); print(m2) }
} catch { print(error) }
