/// Memory file texts for tests: a valid file to start from, with lines to change.
public enum MemoryFixtures {
    /// A ULID from 2026-04-12, matching `validPath`.
    public static let id = "01KP0GDKE0R84P57VFQVC2R1YD"
    /// The store path of `valid`.
    public static let validPath = "memories/learning/2026/04/\(id).yaml"

    /// The front matter lines of `valid` (line 1 is `---`).
    public static let frontMatter = """
        ---
        schema: 1
        id: \(id)
        kind: learning
        author: claude
        host: build-07
        recorded_at: 2026-04-12T09:30:00Z
        tags: [postgres]
        ---
        """

    /// A valid learning: front matter on lines 1–9, `title` on line 10, `body` from line 11.
    public static let valid = frontMatter + "\n" + """
        title: a valid learning
        body: |
          two lines
          of body
        """ + "\n"

    /// The front matter followed by the given body lines.
    public static func withBody(_ lines: String) -> String {
        frontMatter + "\n" + lines + "\n"
    }
}
