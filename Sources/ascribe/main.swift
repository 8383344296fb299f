import AscribeCore
import AscribeRuntime

print("ascribe: \(SystemClock.now())")
