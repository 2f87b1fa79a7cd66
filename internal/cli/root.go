// Package cli is the kubectl-modelgate plugin: commands that read a
// ModelDeployment's checklist and rollout, control a rollout by hand, write
// its deployment record, and check manifests offline with the operator's own
// checklist. It takes kubectl's connection flags (k8s.io/cli-runtime).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/modelgate/modelgate/internal/manifestcheck"
	"github.com/modelgate/modelgate/internal/statusview"
)

// Exit codes.
const (
	// ExitOK: the command did what was asked; check found no enforced failure.
	ExitOK = 0
	// ExitFailed: check found an enforced item failing, or a command failed
	// (the API server refused, the object does not exist).
	ExitFailed = 1
	// ExitUsage: the command line or the manifests could not be read.
	ExitUsage = 2
)

// Options are what the commands need from outside; tests replace them.
type Options struct {
	Streams genericiooptions.IOStreams
	// ConfigFlags are kubectl's flags for the kubeconfig, context, namespace ...
	ConfigFlags *genericclioptions.ConfigFlags
	// NewClient connects to the cluster; nil connects with ConfigFlags.
	NewClient func() (client.WithWatch, error)
	// Clock dates status ages, report times and request tokens.
	Clock clock.PassiveClock
	// Color forces colour on or off; nil colours only a terminal that allows it.
	Color *bool
	// Version is the plugin's version.
	Version string
}

// Run runs the plugin with the arguments (without the program name) and
// returns the exit code; errors are printed to the error stream.
func Run(ctx context.Context, args []string, opts Options) int {
	cmd := NewCommand(&opts)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var code exitCode
	if errors.As(err, &code) {
		if code.err != nil {
			fmt.Fprintf(opts.Streams.ErrOut, "error: %v\n", code.err)
		}
		return code.code
	}
	fmt.Fprintf(opts.Streams.ErrOut, "error: %v\n", err)
	return ExitFailed
}

// exitCode carries an exit code with its error, which may be nil when the
// output already said everything (a failed check's text).
type exitCode struct {
	code int
	err  error
}

func (e exitCode) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit code %d", e.code)
	}
	return e.err.Error()
}

func (e exitCode) Unwrap() error { return e.err }

// usageError is a command line that cannot work, with what to do instead.
func usageError(format string, args ...any) error {
	return exitCode{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

const rootLong = `kubectl modelgate reads and drives modelgate's ModelDeployments: the
readiness checklist as the model deployment checklist shows it, the rollout,
the manual controls of a rollout, a deployment record for a change ticket,
and an offline check of manifests for CI with the operator's own checklist.

It takes kubectl's flags for the cluster: --kubeconfig, --context, -n/--namespace.`

const rootExample = `  # The checklist and rollout of a ModelDeployment, followed live
  kubectl modelgate status fraud-scorer -n ml --watch

  # Move a paused canary to its next step, or roll it back with a reason
  kubectl modelgate promote fraud-scorer
  kubectl modelgate abort fraud-scorer --reason "error rate above 5% on EU traffic"

  # Check manifests in CI before they reach a cluster
  kubectl modelgate check -f deploy/ -o sarif > modelgate.sarif`

// NewCommand builds the plugin's command tree.
func NewCommand(opts *Options) *cobra.Command {
	if opts.ConfigFlags == nil {
		opts.ConfigFlags = genericclioptions.NewConfigFlags(true)
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	root := &cobra.Command{
		Use:     "kubectl-modelgate",
		Short:   "Read, drive and check modelgate ModelDeployments",
		Long:    rootLong,
		Example: rootExample,
		Version: opts.Version,
		Annotations: map[string]string{
			cobra.CommandDisplayNameAnnotation: "kubectl modelgate",
		},
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(opts.Streams.In)
	root.SetOut(opts.Streams.Out)
	root.SetErr(opts.Streams.ErrOut)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError("%v\nSee '%s --help'.", err, c.CommandPath())
	})
	opts.ConfigFlags.AddFlags(root.PersistentFlags())
	// Without a shorthand: kubectl's -v is the log level.
	root.Flags().Bool("version", false, "Print the plugin's version")

	root.AddGroup(&cobra.Group{ID: "read", Title: "Read a ModelDeployment:"},
		&cobra.Group{ID: "control", Title: "Control a rollout (annotations and spec.paused the operator acts on):"},
		&cobra.Group{ID: "offline", Title: "Check manifests offline:"})
	for _, c := range []*cobra.Command{newStatusCommand(opts), newReportCommand(opts)} {
		c.GroupID = "read"
		root.AddCommand(c)
	}
	for _, c := range append(newControlCommands(opts), newApproveCommand(opts)) {
		c.GroupID = "control"
		root.AddCommand(c)
	}
	check := newCheckCommand(opts)
	check.GroupID = "offline"
	root.AddCommand(check)
	return root
}

// style colours output for a terminal only, and never when NO_COLOR is set
// (https://no-color.org) or TERM is dumb.
func (o *Options) style(w io.Writer) statusview.Style {
	if o.Color != nil {
		return statusview.Style{Color: *o.Color}
	}
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return statusview.Style{}
	}
	return statusview.Style{Color: term.IsTerminal(int(f.Fd()))} //nolint:gosec // a file descriptor fits an int
}

// client connects to the cluster of the kubeconfig flags.
func (o *Options) client() (client.WithWatch, error) {
	if o.NewClient != nil {
		return o.NewClient()
	}
	cfg, err := o.ConfigFlags.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("cannot read the kubeconfig: %w (set --kubeconfig, KUBECONFIG or --context)", err)
	}
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: manifestcheck.Scheme()})
	if err != nil {
		return nil, fmt.Errorf("cannot connect to the cluster at %s: %w", cfg.Host, err)
	}
	return c, nil
}

// namespace is the namespace of --namespace, or of the kubeconfig's context.
func (o *Options) namespace() (string, error) {
	if o.ConfigFlags.Namespace != nil && *o.ConfigFlags.Namespace != "" {
		return *o.ConfigFlags.Namespace, nil
	}
	ns, _, err := o.ConfigFlags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return "", fmt.Errorf("cannot tell the namespace from the kubeconfig: %w (pass --namespace)", err)
	}
	return ns, nil
}

// exactlyOneName is the Args check of the commands that take a ModelDeployment's name.
func exactlyOneName(cmd *cobra.Command, args []string) error {
	switch len(args) {
	case 1:
		return nil
	case 0:
		return usageError("%s needs the name of a ModelDeployment, such as: %s fraud-scorer\nList them with: kubectl get modeldeployments",
			cmd.CommandPath(), cmd.CommandPath())
	}
	return usageError("%s takes one ModelDeployment name, got %d: %s", cmd.CommandPath(), len(args), strings.Join(args, " "))
}

// completeNames completes a ModelDeployment's name from the namespace's.
func completeNames(opts *Options) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		names, err := listNames(cmd.Context(), opts)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
		}
		var out []cobra.Completion
		for _, n := range names {
			if strings.HasPrefix(n, toComplete) {
				out = append(out, n)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
