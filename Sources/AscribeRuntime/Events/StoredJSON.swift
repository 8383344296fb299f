import AscribeCore

/// The two JSON shapes the store keeps in text columns: `argv` (an array of strings) and
/// `details` (an object of strings, each key once). Written with `JSONValue`; read back with
/// the strict `JSONParser`, answering nil for anything else so an edited row is reported,
/// never trusted.
enum StoredJSON {
    static func render(_ list: [String]) -> String {
        JSONValue.array(list.map(JSONValue.string)).rendered
    }

    /// Keys in UTF-8 byte order, so equal maps are stored as equal text.
    static func render(_ map: [String: String]) -> String {
        let sorted = map.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        return JSONValue.object(sorted.map { ($0.key, JSONValue.string($0.value)) }).rendered
    }

    static func stringArray(_ text: String) -> [String]? {
        guard case .array(let items)? = try? JSONParser.parse(text) else { return nil }
        var values: [String] = []
        for item in items {
            guard let value = item.stringValue else { return nil }
            values.append(value)
        }
        return values
    }

    static func stringObject(_ text: String) -> [String: String]? {
        guard case .object(let entries)? = try? JSONParser.parse(text) else { return nil }
        var values: [String: String] = [:]
        for (key, item) in entries {
            guard let value = item.stringValue, values.updateValue(value, forKey: key) == nil else { return nil }
        }
        return values
    }
}
