// The Alertmanager webhook body (version "4") for one notification of a group, as Alertmanager's
// webhook receiver POSTs it: fields in its order, labels sorted, times in RFC 3339 UTC, the zero
// time "0001-01-01T00:00:00Z" as endsAt of a firing alert. docs/alerts.md shows an example.
#pragma once

#include <string>

#include "alerts/alert_groups.h"

namespace slipway::alerts {

// `receiver` names the receiver; `external_url` is the spec's alerts.external_url (may be
// empty), from which each alert's generatorURL is made.
std::string WebhookBody(const Notification& notification, const std::string& receiver,
                        const std::string& external_url);

}  // namespace slipway::alerts
