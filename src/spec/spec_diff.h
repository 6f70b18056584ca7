// What changes between two validated AppSpecs, field by field: what `slipway plan` shows
// (docs/cli.md#plan). Both sides are the normalised form (the parsed AppSpec, as the daemon
// holds it), so re-ordered keys, comments and written defaults compare equal. Pure functions.
#pragma once

#include <string>
#include <vector>

#include "spec/app_spec.h"

namespace slipway::spec {

// One field a deploy acts on: `path` as docs/spec.md names it ("replicas", "env.TOKEN",
// "readiness.interval"), `value` as it would be written ("2", "1.5s", "64Mi").
struct SpecField {
  std::string path;
  std::string value;
  bool secret = false;  // env values, webhook URLs: a diff never shows them
};

// Every field of `spec` in a fixed order (the order of docs/spec.md); map entries (env, flags,
// labels) by key. Absent optionals (no liveness probe, no memory limit) have no entry. Source
// line numbers and image_id (not from the YAML) are not fields.
std::vector<SpecField> FlattenAppSpec(const AppSpec& spec);

enum class ChangeKind { kAdded, kRemoved, kChanged };

struct FieldChange {
  std::string path;
  ChangeKind kind = ChangeKind::kChanged;
  std::string before;  // "" for kAdded and for a secret
  std::string after;   // "" for kRemoved and for a secret
  bool secret = false;

  // "replicas: 2 -> 3", "limits.memory: added (64Mi)", "env.TOKEN: changed (value hidden)".
  std::string ToString() const;
};

// The fields that differ, in FlattenAppSpec order (a removed field where it was); empty when a
// deploy of `after` would run the same thing as `before`.
std::vector<FieldChange> DiffAppSpecs(const AppSpec& before, const AppSpec& after);

const char* ChangeKindName(ChangeKind kind);  // "added", "removed", "changed"

}  // namespace slipway::spec
