package metrics

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The helpers below do what prometheus/testutil's GatherAndCompare and
// GatherAndCount do. testutil itself cannot be imported: it needs
// github.com/kylelemons/godebug, which go.mod does not pin.

// gatherAndCompare gathers g, keeps the families named in names, and
// compares them in text exposition format with want (also text format;
// series within a family in label order, as Gather sorts them).
func gatherAndCompare(g prometheus.Gatherer, want string, names ...string) error {
	got, err := g.Gather()
	if err != nil {
		return fmt.Errorf("gathering metrics failed: %w", err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	wantFams, err := p.TextToMetricFamilies(strings.NewReader(want))
	if err != nil {
		return fmt.Errorf("parsing expected metrics: %w", err)
	}
	var wantList []*dto.MetricFamily
	for _, mf := range wantFams {
		wantList = append(wantList, mf)
	}
	gotText, err := familiesText(filter(got, names))
	if err != nil {
		return err
	}
	wantText, err := familiesText(filter(wantList, names))
	if err != nil {
		return err
	}
	if gotText != wantText {
		return fmt.Errorf("metrics differ\n--- got\n%s--- want\n%s", gotText, wantText)
	}
	return nil
}

// gatherAndCount counts the series of the families named in names.
func gatherAndCount(g prometheus.Gatherer, names ...string) (int, error) {
	got, err := g.Gather()
	if err != nil {
		return 0, fmt.Errorf("gathering metrics failed: %w", err)
	}
	n := 0
	for _, mf := range filter(got, names) {
		n += len(mf.GetMetric())
	}
	return n, nil
}

func filter(mfs []*dto.MetricFamily, names []string) []*dto.MetricFamily {
	var out []*dto.MetricFamily
	for _, mf := range mfs {
		if len(names) == 0 || slices.Contains(names, mf.GetName()) {
			out = append(out, mf)
		}
	}
	slices.SortFunc(out, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	return out
}

func familiesText(mfs []*dto.MetricFamily) (string, error) {
	var buf bytes.Buffer
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
			return "", err
		}
	}
	return buf.String(), nil
}
