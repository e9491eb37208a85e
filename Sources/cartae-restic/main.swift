import CartaeCLI

#if canImport(Glibc)
import Glibc
#endif

exit(await Runner.run(Array(CommandLine.arguments.dropFirst())))
