package fsm

import (
	"encoding/json"
	"maps"
	"slices"
)

// ApplicationPrivilege is a named set of actions of an application.
type ApplicationPrivilege struct {
	Application string          `json:"application"`
	Name        string          `json:"name"`
	Actions     []string        `json:"actions"`
	Metadata    json.RawMessage `json:"metadata,omitempty"`
}

// ApplicationPrivilegePutV1 creates or replaces application privileges.
type ApplicationPrivilegePutV1 struct {
	Privileges []ApplicationPrivilege `json:"privileges"`
}

// EventType implements Payload.
func (ApplicationPrivilegePutV1) EventType() (EventType, uint8) { return ApplicationPrivilegePut, 1 }

// ApplicationPrivilegeDeletedV1 removes privileges of one application.
type ApplicationPrivilegeDeletedV1 struct {
	Application string   `json:"application"`
	Names       []string `json:"names"`
}

// EventType implements Payload.
func (ApplicationPrivilegeDeletedV1) EventType() (EventType, uint8) {
	return ApplicationPrivilegeDel, 1
}

// itemKey names one privilege in a Result's Items.
func itemKey(app, name string) string { return app + "/" + name }

func applyApplicationPrivilegePutV1(s *State, _ uint64, p ApplicationPrivilegePutV1) Result {
	res := Result{Status: Updated, Items: map[string]Status{}}
	for _, priv := range p.Privileges {
		app := s.appPrivs[priv.Application]
		if app == nil {
			app = map[string]*ApplicationPrivilege{}
			s.appPrivs[priv.Application] = app
		}
		st := Updated
		if _, ok := app[priv.Name]; !ok {
			st = Created
		}
		c := priv
		app[priv.Name] = &c
		res.Items[itemKey(priv.Application, priv.Name)] = st
	}
	return res
}

func applyApplicationPrivilegeDelV1(s *State, _ uint64, p ApplicationPrivilegeDeletedV1) Result {
	res := Result{Status: NotFound, Items: map[string]Status{}}
	app := s.appPrivs[p.Application]
	for _, n := range p.Names {
		if _, ok := app[n]; ok {
			delete(app, n)
			res.Items[itemKey(p.Application, n)] = Deleted
			res.Status = Deleted
		} else {
			res.Items[itemKey(p.Application, n)] = NotFound
		}
	}
	if app != nil && len(app) == 0 {
		delete(s.appPrivs, p.Application)
	}
	return res
}

// ApplicationPrivileges returns the stored privileges, ordered by application
// and name. An empty app means every application.
func (s *State) ApplicationPrivileges(app string) []*ApplicationPrivilege {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*ApplicationPrivilege
	for _, a := range slices.Sorted(maps.Keys(s.appPrivs)) {
		if app == "" || a == app {
			out = append(out, sortedValues(s.appPrivs[a])...)
		}
	}
	return out
}

// captureAppPrivileges writes the privileges by application, then name.
func captureAppPrivileges(s *State) recordWriter {
	apps := make(map[string]map[string]*ApplicationPrivilege, len(s.appPrivs))
	for app, privs := range s.appPrivs {
		apps[app] = maps.Clone(privs)
	}
	return func(sw *snapshotWriter) {
		for _, app := range slices.Sorted(maps.Keys(apps)) {
			for _, p := range sortedValues(apps[app]) {
				sw.record(recAppPrivilege, p)
			}
		}
	}
}

func restoreAppPrivilege(s *State, body []byte, _ *restoring) error {
	p := new(ApplicationPrivilege)
	if err := json.Unmarshal(body, p); err != nil {
		return err
	}
	if s.appPrivs[p.Application] == nil {
		s.appPrivs[p.Application] = map[string]*ApplicationPrivilege{}
	}
	s.appPrivs[p.Application][p.Name] = p
	return nil
}
