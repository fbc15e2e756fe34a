package fsm

import "encoding/json"

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

func applyApplicationPrivilegePutV1(s *State, _ uint64, body []byte) (Result, error) {
	p, err := decodePayload[ApplicationPrivilegePutV1](body)
	if err != nil {
		return Result{}, err
	}
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
	return res, nil
}

func applyApplicationPrivilegeDelV1(s *State, _ uint64, body []byte) (Result, error) {
	p, err := decodePayload[ApplicationPrivilegeDeletedV1](body)
	if err != nil {
		return Result{}, err
	}
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
	return res, nil
}

// ApplicationPrivileges returns the stored privileges, ordered by application
// and name. An empty app means every application.
func (s *State) ApplicationPrivileges(app string) []*ApplicationPrivilege {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*ApplicationPrivilege
	for _, a := range sortedKeys(s.appPrivs) {
		if app != "" && a != app {
			continue
		}
		privs := s.appPrivs[a]
		for _, n := range sortedKeys(privs) {
			out = append(out, privs[n])
		}
	}
	return out
}
