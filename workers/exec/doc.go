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
// Exit code ExitPermanent (65, EX_DATAERR) and outputs that cannot be
// artifacts (too large, not regular files, unsafe paths) match
// wire.ErrPermanent; any other failure is transient.
package exec
