import ArgumentParser

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print version information.")

    @OptionGroup var global: GlobalOptions

    func run() throws {
        if global.json {
            Output.print("{\"message_type\":\"version\",\"version\":\"\(CartaeVersion.number)\",\"go_version\":\"swift\",\"go_os\":\"linux\",\"go_arch\":\"amd64\"}")
        } else {
            Output.print("\(CartaeVersion.text) compiled with Swift on linux/amd64")
        }
    }
}
