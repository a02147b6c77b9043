// Package deploy owns writing artifacts: the Dir deployer (atomic write
// through os.Root, the previous version kept beside it for Rollback), the
// ObjectStore deployer (a JetStream object-store bucket), the Ledger in
// KV that makes each deployer write an artifact once per content and
// never over a newer revision, and Fanout to several targets.
//
//	ledger := deploy.NewLedger(ledgerKV, "dir:out")
//	d := &deploy.Dir{Root: "out", Ledger: ledger}
//	deployed, err := d.Deploy(ctx, artifact)
//
// A failure caused by the artifact (an unsafe path, a refused validation)
// matches wire.ErrPermanent.
package deploy
