// Package deploy owns writing artifacts: the Dir deployer (atomic write
// through os.Root, the previous version kept in PrevDir for Rollback), the
// ObjectStore deployer (a JetStream object-store bucket), the Ledger in
// KV that makes each deployer write an artifact once per content and
// never over a newer revision, Fanout to several targets, and the
// Validators an artifact must pass before it is deployed (built in: go,
// json, yaml; or a configured command).
//
//	ledger := deploy.NewLedger(ledgerKV, "dir:out")
//	vs, err := deploy.NewValidators(deploy.ValidatorsConfig{
//		Commands: map[string][]string{"govet": {"go", "vet"}}})
//	d := &deploy.Dir{Root: "out", Ledger: ledger, Validate: vs.Hook("go")}
//	deployed, err := d.Deploy(ctx, artifact)
//
// A failure caused by the artifact (an unsafe path, a refused validation)
// matches wire.ErrPermanent.
package deploy
