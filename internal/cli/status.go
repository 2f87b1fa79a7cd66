package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	servingv1alpha1 "github.com/modelgate/modelgate/api/v1alpha1"
	"github.com/modelgate/modelgate/internal/statusview"
)

const statusLong = `Show a ModelDeployment's readiness checklist as the model deployment
checklist shows it: by section, [x] for an item that passed and [ ] for one
that did not, with what was found and what to do about it. Then the rollout:
the stable version, the candidate with its weight and canary step, the phase,
the conditions and the last measurements (analysis and load test).

With --watch the view is printed again each time the ModelDeployment changes,
until interrupted (Ctrl-C).`

const statusExample = `  # The checklist and rollout of fraud-scorer in namespace ml
  kubectl modelgate status fraud-scorer -n ml

  # Follow a canary live
  kubectl modelgate status fraud-scorer -n ml --watch`

func newStatusCommand(opts *Options) *cobra.Command {
	var follow bool
	cmd := &cobra.Command{
		Use:               "status NAME",
		Short:             "Show the checklist and rollout of a ModelDeployment",
		Long:              statusLong,
		Example:           statusExample,
		Args:              exactlyOneName,
		ValidArgsFunction: completeNames(opts),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := opts.connect(args[0])
			if err != nil {
				return err
			}
			out := opts.Streams.Out
			style := opts.style(out)
			render := func(md *servingv1alpha1.ModelDeployment) string {
				var b strings.Builder
				_ = statusview.Status(&b, md, opts.Clock.Now(), style) // a strings.Builder never fails
				return b.String()
			}
			if follow {
				return watchStatus(cmd.Context(), t, render, out, style.Color)
			}
			md, err := t.get(cmd.Context())
			if err != nil {
				return err
			}
			_, err = io.WriteString(out, render(md))
			return err
		},
	}
	cmd.Flags().BoolVarP(&follow, "watch", "w", false, "Print the view again each time the ModelDeployment changes, until interrupted")
	return cmd
}

// clearScreen moves a terminal's cursor home and clears it, so a watched
// view redraws in place.
const clearScreen = "\x1b[H\x1b[2J"

// watchStatus prints the view, then again on every change of the object,
// until the context ends or the object is deleted. A watch the API server
// closes (they time out) is opened again from the last version seen.
func watchStatus(ctx context.Context, t *target, render func(*servingv1alpha1.ModelDeployment) string, out io.Writer, terminal bool) error {
	md, err := t.get(ctx)
	if err != nil {
		return err
	}
	last := ""
	show := func(md *servingv1alpha1.ModelDeployment) error {
		view := render(md)
		if view == last {
			return nil
		}
		prefix := ""
		switch {
		case terminal:
			prefix = clearScreen
		case last != "":
			prefix = "\n---\n"
		}
		last = view
		_, err := io.WriteString(out, prefix+view)
		return err
	}
	if err := show(md); err != nil {
		return err
	}
	for {
		w, err := t.c.Watch(ctx, &servingv1alpha1.ModelDeploymentList{}, client.InNamespace(t.namespace),
			&client.ListOptions{
				FieldSelector: fields.OneTermEqualSelector("metadata.name", t.name),
				Raw:           &metav1.ListOptions{ResourceVersion: md.ResourceVersion, AllowWatchBookmarks: true},
			})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return t.explain(err, "watch")
		}
		next, gone, err := follow(ctx, w, t.name, show)
		w.Stop()
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			return err
		case gone:
			_, err := fmt.Fprintf(out, "\nModelDeployment %s/%s was deleted.\n", t.namespace, t.name)
			return err
		case next != nil:
			md = next
		default: // the watch expired: read the object again and watch from there
			if md, err = t.get(ctx); err != nil {
				return err
			}
			if err := show(md); err != nil {
				return err
			}
		}
	}
}

// follow shows each change a watch reports until it closes. It returns the
// last object seen, to watch again from; nil when there is none or the watch
// expired (410 Gone: the version is too old), so the caller reads the object
// again; and gone when the object was deleted.
func follow(ctx context.Context, w watch.Interface, name string, show func(*servingv1alpha1.ModelDeployment) error) (*servingv1alpha1.ModelDeployment, bool, error) {
	var last *servingv1alpha1.ModelDeployment
	for {
		select {
		case <-ctx.Done():
			return last, false, nil
		case ev, ok := <-w.ResultChan():
			if !ok {
				return last, false, nil
			}
			switch ev.Type {
			case watch.Added, watch.Modified:
				md, ok := ev.Object.(*servingv1alpha1.ModelDeployment)
				if !ok || md.Name != name {
					continue
				}
				last = md
				if err := show(md); err != nil {
					return nil, false, err
				}
			case watch.Deleted:
				if md, ok := ev.Object.(*servingv1alpha1.ModelDeployment); ok && md.Name == name {
					return nil, true, nil
				}
			case watch.Error:
				if apierrors.IsResourceExpired(apierrors.FromObject(ev.Object)) || apierrors.IsGone(apierrors.FromObject(ev.Object)) {
					return nil, false, nil
				}
				return nil, false, fmt.Errorf("watching ModelDeployment %s: %w", name, apierrors.FromObject(ev.Object))
			case watch.Bookmark:
				if md, ok := ev.Object.(*servingv1alpha1.ModelDeployment); ok && last != nil {
					last.ResourceVersion = md.ResourceVersion
				}
			}
		}
	}
}

const reportLong = `Write the deployment record of the version a ModelDeployment's spec asks
for, in Markdown, for a change ticket: the model deployment checklist's
"Notes" (deployment details, the checklist, load-test figures, rollback
triggers and measurements, the rollout history with rollbacks and their
reasons) and "Sign-Off" sections, filled in from status and history where
they tell, left blank where a person must sign.`

const reportExample = `  # Attach the record of fraud-scorer's current version to a change ticket
  kubectl modelgate report fraud-scorer -n ml > fraud-scorer-2.4.0.md`

func newReportCommand(opts *Options) *cobra.Command {
	return &cobra.Command{
		Use:               "report NAME",
		Short:             "Write a Markdown deployment record for a change ticket",
		Long:              reportLong,
		Example:           reportExample,
		Args:              exactlyOneName,
		ValidArgsFunction: completeNames(opts),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := opts.connect(args[0])
			if err != nil {
				return err
			}
			md, err := t.get(cmd.Context())
			if err != nil {
				return err
			}
			return statusview.Report(opts.Streams.Out, md, opts.Clock.Now())
		},
	}
}
