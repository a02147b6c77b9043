// Package exec owns the exec engine: it runs a configured generator
// command (argv, never a shell string, never built from event data) once
// per change, in a fresh scratch directory, with the event on stdin and in
// the environment, and turns every regular file the generator leaves
// there into an artifact.
//
//	eng, err := exec.NewEngine(exec.Config{Command: []string{"/usr/local/bin/mygen"}})
//	if err != nil {
//		return err
//	}
//	arts, err := eng.Regenerate(ctx, change)
//
// When the generator exits, whatever the reason, the engine kills its
// process group and, on Linux, every process that carries the run's
// RunTokenVar token or belongs to a group or session such a process leads,
// and waits until they are gone before Regenerate returns. On Linux regen
// is a child subreaper: detached processes come back to it and it reaps
// them.
//
// Exit code ExitPermanent (65, EX_DATAERR), outputs that cannot be
// artifacts (too large by their sizes, growing past the limit while read,
// not regular files, hard links to files outside the scratch directory,
// unsafe paths) and an output pipe that an untraceable process keeps open
// are permanent, each with its wire.ReasonExec* reason; any other failure
// is transient.
package exec
