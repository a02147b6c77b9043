package wire

import (
	"crypto/sha256"
	"encoding/hex"
)

// Artifact is one regenerated output: a file for the dir deployer, an object
// for the object-store deployer.
type Artifact struct {
	// Path is relative to the deploy root, slash-separated, already checked
	// by CleanPath.
	Path string `json:"path"`
	// Content is the rendered bytes (empty when Delete is set).
	Content []byte `json:"-"`
	// Hash is the hex SHA-256 of Content; unchanged hashes are not redeployed.
	Hash string `json:"hash"`
	// Template and Node say what produced it.
	Template string `json:"template"`
	Node     string `json:"node"`
	// Revision orders renders of the same artifact: the model revision the
	// render read. A render with a lower revision than the deployed one is
	// stale and never overwrites it.
	Revision uint64 `json:"revision"`
	// EventID and ExecutionID trace the artifact to the change that made it.
	EventID     string `json:"event_id"`
	ExecutionID string `json:"execution_id"`
	// Delete asks the deployer to remove the artifact (its node was
	// removed, or its output path moved).
	Delete bool `json:"delete,omitempty"`
	// Validators name the checks the content must pass before it is
	// deployed (the template's validate list); the deployer runs them.
	Validators []string `json:"validators,omitempty"`
}

// ContentHash is the Hash of content: its hex SHA-256.
func ContentHash(content []byte) string {
	sum := sha256.Sum256(content)
	return hex.EncodeToString(sum[:])
}
