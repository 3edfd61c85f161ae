package pusherproto

// Webhook event names an app may ask for.
const (
	WebhookChannelOccupied = "channel_occupied"
	WebhookChannelVacated  = "channel_vacated"
	WebhookMemberAdded     = "member_added"
	WebhookMemberRemoved   = "member_removed"
	WebhookClientEvent     = "client_event"
)

// ValidWebhookEvent reports whether name is a webhook event Gatehouse sends.
func ValidWebhookEvent(name string) bool {
	switch name {
	case WebhookChannelOccupied, WebhookChannelVacated, WebhookMemberAdded, WebhookMemberRemoved, WebhookClientEvent:
		return true
	}
	return false
}
