package wire

// Dead-letter reasons of the exec engine's permanent failures: what a
// generator did that no retry can change.
const (
	// ReasonExecRejected: the generator exited with EX_DATAERR (65), its
	// way of saying that this input can never work.
	ReasonExecRejected = "generator_rejected"
	// ReasonExecOutputTooLarge: the files a run left add up to more than
	// the engine's output limit (by their sizes, before any is read, or
	// while reading one that grew).
	ReasonExecOutputTooLarge = "output_too_large"
	// ReasonExecOutputHardlink: an output file has a hard link outside the
	// run's scratch directory.
	ReasonExecOutputHardlink = "output_hardlink"
	// ReasonExecOutputNotRegular: an output is a symlink, a FIFO, a socket
	// or a device, not a regular file.
	ReasonExecOutputNotRegular = "output_not_regular"
	// ReasonExecOutputPath: an output file's path is not a safe artifact
	// path (CleanPath refuses it).
	ReasonExecOutputPath = "output_unsafe_path"
	// ReasonExecOutputHeld: a process the engine could not find and kill
	// still held the generator's output open after it exited.
	ReasonExecOutputHeld = "output_held_open"
)
