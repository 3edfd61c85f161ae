// Command gatehouse runs Gatehouse: an OpenID Connect relying party, a token
// service and a realtime pub/sub server in one binary. See `gatehouse help`.
package main

import (
	"fmt"
	"io"
	"os"
)

const usage = `usage: gatehouse <command> [flags]

commands:
  dev                          everything on, zero configuration (listens on 127.0.0.1:8080)
  serve --config FILE          production mode
  config check --config FILE   validate and print the effective config, secrets redacted
  keys generate --alg ALG      write a new private key (PEM) to --out or stdout
  token mint --config FILE --sub S [--perm P]... [--role R]... [--ttl D] [--profile P]
                               mint a token offline for a service
  version                      print version information

Flags also come from the environment as GATEHOUSE_<FLAG> (GATEHOUSE_CONFIG, GATEHOUSE_ADDR, ...).
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches a command line and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "dev":
		err = cmdServer(args[1:], modeDev, stdout, stderr)
	case "serve":
		err = cmdServer(args[1:], modeServe, stdout, stderr)
	case "config":
		if len(args) < 2 || args[1] != "check" {
			fmt.Fprint(stderr, "usage: gatehouse config check --config FILE\n")
			return 2
		}
		return cmdConfigCheck(args[2:], stdout, stderr)
	case "keys":
		switch {
		case len(args) >= 2 && args[1] == "generate":
			err = cmdKeysGenerate(args[2:], stdout, stderr)
		case len(args) >= 2 && args[1] == "export":
			err = cmdKeysExport(args[2:], stdout, stderr)
		default:
			fmt.Fprint(stderr, "usage: gatehouse keys generate --alg ALG [--out FILE]\n       gatehouse keys export --config FILE [--data-dir DIR] [--kid K] [--format jwk|pem|x509]\n")
			return 2
		}
	case "token":
		if len(args) < 2 || args[1] != "mint" {
			fmt.Fprint(stderr, "usage: gatehouse token mint --config FILE --sub S [--perm P]... [--role R]... [--ttl D] [--profile P]\n")
			return 2
		}
		err = cmdTokenMint(args[2:], stdout, stderr)
	case "version", "--version", "-v":
		printVersion(stdout)
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "gatehouse: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		if err == errUsage {
			return 2
		}
		fmt.Fprintf(stderr, "gatehouse: %v\n", err)
		return 1
	}
	return 0
}
