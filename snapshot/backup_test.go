package snapshot

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"testing"

	"github.com/tokenstore/tokenstore/fsm"
)

func sampleState(t *testing.T) *fsm.State {
	t.Helper()
	st := fsm.NewState()
	events := []fsm.Payload{
		fsm.ElasticBootstrappedV1{PasswordHash: "$2a$04$x", ClusterID: "src"},
		fsm.UserPutV1{User: fsm.User{Username: "joe", PasswordHash: "h", Roles: []string{"r"}, Enabled: true}},
		fsm.RolePutV1{Name: "r", Descriptor: fsm.RoleDescriptor{Cluster: []string{"monitor"}}},
		fsm.APIKeyCreatedV1{Key: fsm.APIKey{ID: "k1", Name: "k", Hash: "{SSHA256}x", Creator: fsm.Creator{Principal: "joe"}}},
		fsm.NodeRegisteredV1{Node: fsm.Node{ID: "n1", HTTPAddr: "a", RaftAddr: "b"}},
	}
	for i, e := range events {
		if _, err := st.ApplyEvent(uint64(i+1), fsm.MustEncode(e)); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

func TestBackupRoundTrip(t *testing.T) {
	st := sampleState(t)
	var buf bytes.Buffer
	if err := Write(&buf, st, 1234); err != nil {
		t.Fatal(err)
	}
	hdr, got, err := Read(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if hdr.FormatVersion != FormatVersion || hdr.ClusterID != "src" || hdr.LastIndex != 5 || hdr.Created != 1234 || hdr.Counts["api_keys"] != 1 {
		t.Errorf("header: %+v", hdr)
	}
	var a, b bytes.Buffer
	st.WriteSnapshot(&a)
	got.WriteSnapshot(&b)
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("restored state differs from the saved one")
	}
}

func TestBackupRefusesDamage(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, sampleState(t), 1); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	for pos := 0; pos < len(good); pos += 7 {
		bad := bytes.Clone(good)
		bad[pos] ^= 0x20
		if _, _, err := Read(bytes.NewReader(bad)); !errors.Is(err, ErrBadBackup) {
			t.Fatalf("flipped byte %d of %d: got %v, want ErrBadBackup", pos, len(good), err)
		}
	}
	if _, _, err := Read(bytes.NewReader(good[:len(good)-1])); !errors.Is(err, ErrBadBackup) {
		t.Errorf("truncated: %v", err)
	}
}

func TestBackupRefusesNewerFormat(t *testing.T) {
	head, _ := json.Marshal(Header{FormatVersion: FormatVersion + 1})
	var buf bytes.Buffer
	buf.WriteString(magic)
	buf.Write([]byte{0, 0, 0, byte(len(head))})
	buf.Write(head)
	sum := sha256.Sum256(head)
	buf.Write(sum[:])
	_, _, err := Read(&buf)
	if !errors.Is(err, ErrBadBackup) || !bytes.Contains([]byte(err.Error()), []byte("newer than this build reads")) {
		t.Fatalf("got %v", err)
	}
}
