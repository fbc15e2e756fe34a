package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/tokenstore/tokenstore/authn"
)

const serviceTokensUsage = `usage: tokenstore service-tokens create NAMESPACE/SERVICE NAME --config-dir DIR
       tokenstore service-tokens delete NAMESPACE/SERVICE NAME --config-dir DIR
       tokenstore service-tokens list [NAMESPACE/SERVICE] --config-dir DIR
`

// serviceTokens manages DIR/service_tokens like elasticsearch-service-tokens:
// it stores the name and a PBKDF2_STRETCH hash and prints the bearer value
// of a new token once. A running node picks the change up by itself.
func serviceTokens(args []string, stdout, stderr io.Writer) error {
	dir, rest, err := serviceTokensArgs(args, stderr)
	if err != nil {
		return err
	}
	tokens, err := authn.ReadServiceTokensFile(dir)
	if err != nil {
		return fmt.Errorf("read %s/%s: %w", dir, authn.ServiceTokensFile, err)
	}
	cmd, rest := rest[0], rest[1:]
	switch cmd {
	case "list":
		return listServiceTokens(tokens, rest, stdout)
	case "create", "delete":
		if len(rest) != 2 {
			fmt.Fprint(stderr, serviceTokensUsage)
			return fmt.Errorf("%s needs NAMESPACE/SERVICE and NAME", cmd)
		}
		principal, name := rest[0], rest[1]
		if _, ok := authn.ServiceAccountDescriptor(principal); !ok {
			return unknownPrincipal(principal)
		}
		if !authn.ValidServiceTokenName(name) {
			return fmt.Errorf("invalid service token name [%s]: 1 to 256 characters A-Z, a-z, 0-9, - or _, not starting with _", name)
		}
		qualified := principal + "/" + name
		if cmd == "delete" {
			if _, ok := tokens[qualified]; !ok {
				//lint:ignore ST1005 elasticsearch-service-tokens' own wording
				return fmt.Errorf("Service token [%s] does not exist", qualified)
			}
			delete(tokens, qualified)
			return authn.WriteServiceTokensFile(dir, tokens)
		}
		return createServiceToken(dir, tokens, qualified, stdout)
	}
	fmt.Fprint(stderr, serviceTokensUsage)
	return fmt.Errorf("unknown service-tokens command %q", cmd)
}

// serviceTokensArgs separates --config-dir from the command and its
// arguments, refusing any other flag.
func serviceTokensArgs(args []string, stderr io.Writer) (string, []string, error) {
	var rest []string
	dir := ""
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--config-dir" || a == "-config-dir":
			if i+1 >= len(args) {
				return "", nil, errors.New("--config-dir needs a directory")
			}
			dir = args[i+1]
			i++
		case strings.HasPrefix(a, "--config-dir="):
			dir = strings.TrimPrefix(a, "--config-dir=")
		case strings.HasPrefix(a, "-"):
			fmt.Fprint(stderr, serviceTokensUsage)
			return "", nil, fmt.Errorf("unknown flag %s", a)
		default:
			rest = append(rest, a)
		}
	}
	if dir == "" || len(rest) == 0 {
		fmt.Fprint(stderr, serviceTokensUsage)
		return "", nil, errors.New("service-tokens needs a command and --config-dir")
	}
	return dir, rest, nil
}

// listServiceTokens prints the names of the file's tokens, of one account
// when rest names it.
func listServiceTokens(tokens authn.FileTokens, rest []string, stdout io.Writer) error {
	prefix := ""
	if len(rest) > 0 {
		if _, ok := authn.ServiceAccountDescriptor(rest[0]); !ok {
			return unknownPrincipal(rest[0])
		}
		prefix = rest[0] + "/"
	}
	for _, line := range strings.Split(strings.TrimSpace(string(tokens.Format())), "\n") {
		name, _, _ := strings.Cut(line, ":")
		if name != "" && strings.HasPrefix(name, prefix) {
			fmt.Fprintln(stdout, name)
		}
	}
	return nil
}

func createServiceToken(dir string, tokens authn.FileTokens, qualified string, stdout io.Writer) error {
	if _, ok := tokens[qualified]; ok {
		//lint:ignore ST1005 elasticsearch-service-tokens' own wording
		return fmt.Errorf("Service token [%s] already exists", qualified)
	}
	secret, hash, err := authn.NewFileServiceTokenSecret()
	if err != nil {
		return err
	}
	tokens[qualified] = hash
	if err := authn.WriteServiceTokensFile(dir, tokens); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "SERVICE_TOKEN %s = %s\n", qualified, authn.ServiceTokenValue(qualified, secret))
	return nil
}

func unknownPrincipal(p string) error {
	//lint:ignore ST1005 elasticsearch-service-tokens' own wording
	return fmt.Errorf("Unknown service account principal: [%s]. Must be one of [%s]", p, strings.Join(authn.ServiceAccountNames(), ","))
}
