/// The release this build is: the one place the version is written (`ascribe --version`).
public enum AscribeVersion {
    public static let current = "0.1.0"
}
