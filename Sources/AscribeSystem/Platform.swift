// Ascribe runs on Linux only: the OS layer is epoll, eventfd, inotify, pidfds, SO_PEERCRED and
// /proc, and the exec helper relies on glibc's close_range and Linux's credential calls. Every
// module reaches the OS through this one, so this is the one place that says so.
#if !os(Linux)
#error("Ascribe builds and runs on Linux only (glibc 2.34 or newer): see README.md, Requirements")
#endif
