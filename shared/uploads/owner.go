package uploads

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"

	"wxchannel/shared/storage"
)

var (
	// keyPattern is every upload key: uploads/<tenant>/<folder>/<name>.<ext>
	// (shared/workorder checks photo keys against the same shape).
	keyPattern = regexp.MustCompile(`^uploads/[A-Za-z0-9_-]{1,40}/[A-Za-z0-9_-]{1,40}/[A-Za-z0-9_-]{8,64}\.(jpg|jpeg|png)$`)
	idPattern  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,40}$`)
	// engineerPattern is a staff subject usable as it is in a folder name
	// after "eng-".
	engineerPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,36}$`)
)

// Owner is whose folder an upload goes to: a terminal user's, or an
// engineer's (photos before and after a visit, the customer's signature).
// Only the owner may put an upload in an order or a visit (Owns).
type Owner struct {
	tenantID, folder string
}

// TerminalUser is the owner of a terminal user's uploads, under
// uploads/<tenant>/<user>/. User ids (terminaluser.UserID) are lower-case
// base32: never the "eng-"/"engx-" of an engineer's folder.
func TerminalUser(tenantID, userID string) Owner { return Owner{tenantID: tenantID, folder: userID} }

// Engineer is the owner of an engineer's uploads, under
// uploads/<tenant>/eng-<subject>/, or uploads/<tenant>/engx-<hash>/ for a
// subject that cannot name a folder (the CRM chooses subjects).
func Engineer(tenantID, subject string) Owner {
	if engineerPattern.MatchString(subject) {
		return Owner{tenantID: tenantID, folder: "eng-" + subject}
	}
	sum := sha256.Sum256([]byte(subject))
	return Owner{tenantID: tenantID, folder: "engx-" + hex.EncodeToString(sum[:12])}
}

// Prefix is the start of every key of the owner's uploads.
func (o Owner) Prefix() string { return "uploads/" + o.tenantID + "/" + o.folder + "/" }

// Owns reports whether key names one of the owner's uploads.
func (o Owner) Owns(key string) bool {
	return strings.HasPrefix(key, o.Prefix()) && keyPattern.MatchString(key)
}

// valid refuses an owner whose ids cannot name a folder.
func (o Owner) valid() error {
	if !idPattern.MatchString(o.tenantID) || !idPattern.MatchString(o.folder) {
		return fmt.Errorf("upload owner %q/%q: ids must be 1-40 letters, digits, _ or -", o.tenantID, o.folder)
	}
	return nil
}

// newKey is a fresh key of the owner for a file of contentType.
func (o Owner) newKey(contentType string) string {
	return o.Prefix() + randomName() + "." + extensions[contentType]
}

// slotsPartition is the partition of the owner's upload-slot counters.
func (o Owner) slotsPartition() string {
	return storage.TenantPartition(o.tenantID) + "#uploads#" + o.folder
}
