package storage

// Partitions that hold items of several packages. Each package owns the sort
// keys of its own items; these partition keys are built here and nowhere
// else (docs/data-model.md lists what each partition holds).

// TenantPartition is the partition of a tenant's own records (settings,
// binding, invitations, registrations).
func TenantPartition(tenantID string) string { return "tenant#" + tenantID }

// WorkOrderKey is the key (pk, sk) of a tenant's work order in the
// service table: the work-order package writes it, the device history
// reads its current status.
func WorkOrderKey(tenantID, id string) (pk, sk string) {
	return TenantPartition(tenantID) + "#wo#" + id, "order"
}

// AuthorizerPartition is the partition of a mini program authorized to the
// platform (its binding, tokens, authorization events, release pipeline).
func AuthorizerPartition(appid string) string { return "authorizer#" + appid }
