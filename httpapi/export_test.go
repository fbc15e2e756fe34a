package httpapi

import (
	"maps"
	"slices"
)

// RouteAction is the action a run-as refusal names for a route's method
// and path template, and whether the table has one.
func RouteAction(method, template string) (string, bool) { return actionOf(method, template) }

// RouteActionKeys are the table's keys: "METHOD template" or a template.
func RouteActionKeys() []string { return slices.Collect(maps.Keys(routeActions)) }
