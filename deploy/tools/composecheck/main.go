// composecheck loads a Compose file with compose-go, the loader `docker compose` itself uses, and
// validates it against the Compose specification; no Docker engine is needed.
//
//	composecheck docker-compose.yml [env-file]
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: composecheck COMPOSE_FILE [ENV_FILE]")
		os.Exit(2)
	}
	file, _ := filepath.Abs(os.Args[1])
	opts := []cli.ProjectOptionsFn{cli.WithWorkingDirectory(filepath.Dir(file)), cli.WithName("composecheck")}
	if len(os.Args) > 2 {
		opts = append(opts, cli.WithEnvFiles(os.Args[2]), cli.WithDotEnv)
	} else {
		opts = append(opts, cli.WithOsEnv)
	}
	options, err := cli.NewProjectOptions([]string{file}, opts...)
	if err == nil {
		var project interface{ ServiceNames() []string }
		p, loadErr := options.LoadProject(context.Background())
		err = loadErr
		if err == nil {
			project = p
			fmt.Printf("valid: %d services %v\n", len(project.ServiceNames()), project.ServiceNames())
			return
		}
	}
	fmt.Fprintln(os.Stderr, "invalid:", err)
	os.Exit(1)
}
