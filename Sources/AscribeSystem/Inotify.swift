internal import CAscribeShim

/// inotify, for the job directory watcher.
extension SystemCalls {
    public static func makeInotify() throws(SystemError) -> Int32 {
        let descriptor = ascribe_inotify_init()
        guard descriptor >= 0 else { throw .current("inotify_init1") }
        return descriptor
    }

    public static func watchDirectory(_ path: String, with inotify: Int32) throws(SystemError) {
        guard ascribe_inotify_watch_directory(inotify, path) >= 0 else { throw .current("inotify_add_watch", path) }
    }

    public static func inotifyMaskLostDirectory(_ mask: UInt32) -> Bool {
        ascribe_inotify_mask_lost_directory(mask) != 0
    }
}
