package client

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to start writing n bytes of f from off to
// disk without waiting much (it may wait while the disk's queue is full):
// the downloads go on while the disk writes, and the fsync before the
// version is placed (PullOptions.Fsync) finds little left to do. A failure
// only means the fsync does the work.
func startWriteback(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}
