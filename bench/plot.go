package bench

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Plot writes r's charts to path, as SVG or PNG by its extension: the
// latency distribution (connect time, for connect) by percentile, the open
// connections over time and, when messages flowed, messages per second.
func Plot(r *Report, path string) error {
	plots := []*plot.Plot{distributionPlot(r)}
	plots = append(plots, timelinePlot(r, "open connections", func(p Point) float64 { return float64(p.Open) }))
	if r.Scenario != ScenarioConnect {
		plots = append(plots, timelinePlot(r, "messages/s received", func(p Point) float64 { return p.Rate }))
	}
	const width = 16 * vg.Centimeter
	height := vg.Length(len(plots)) * 8 * vg.Centimeter
	var canvas interface {
		vg.CanvasSizer
		io.WriterTo
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".svg":
		canvas = vgsvg.New(width, height)
	case ".png":
		canvas = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(120))}
	default:
		return fmt.Errorf("bench: --plot %s: want a .svg or .png file", path)
	}
	rows := make([][]*plot.Plot, len(plots))
	for i, p := range plots {
		rows[i] = []*plot.Plot{p}
	}
	tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadY: vg.Centimeter / 2, PadTop: vg.Centimeter / 4,
		PadBottom: vg.Centimeter / 4, PadLeft: vg.Centimeter / 4, PadRight: vg.Centimeter / 2}
	cells := plot.Align(rows, tiles, draw.New(canvas))
	for i, p := range plots {
		p.Draw(cells[i][0])
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := canvas.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// distributionPlot draws latency against percentile on HdrHistogram's
// usual axis: x = log10(1/(1-q)), so 90, 99, 99.9 are evenly spaced.
func distributionPlot(r *Report) *plot.Plot {
	p := plot.New()
	h, what := r.latency, "end-to-end latency"
	if r.Scenario == ScenarioConnect || h == nil || h.Count() == 0 {
		h, what = r.connect, "connect time"
	}
	title := r.Scenario
	if r.Label != "" {
		title = r.Label + " " + title
	}
	p.Title.Text = title + ": " + what + " by percentile"
	p.X.Label.Text = "percentile"
	p.Y.Label.Text = "ms"
	p.X.Tick.Marker = plot.ConstantTicks{
		{Value: 0, Label: "0"}, {Value: 1, Label: "90"}, {Value: 2, Label: "99"},
		{Value: 3, Label: "99.9"}, {Value: 4, Label: "99.99"}, {Value: 5, Label: "99.999"},
	}
	if h == nil || h.Count() == 0 {
		return p
	}
	qs, vs := h.Distribution()
	var pts plotter.XYs
	for i, q := range qs {
		if q >= 100 {
			q = 100 - 100/float64(h.Count()) // the last sample sits at 1 - 1/n
		}
		pts = append(pts, plotter.XY{X: math.Log10(100 / (100 - q)), Y: float64(vs[i]) / 1000})
	}
	if line, err := plotter.NewLine(pts); err == nil {
		line.Width = vg.Points(1.5)
		p.Add(line, plotter.NewGrid())
	}
	return p
}

// timelinePlot draws one per-second series against time since the start.
func timelinePlot(r *Report, label string, y func(Point) float64) *plot.Plot {
	p := plot.New()
	p.Title.Text = label
	p.X.Label.Text = "seconds"
	p.Y.Min = 0
	var pts plotter.XYs
	for _, pt := range r.Timeline {
		pts = append(pts, plotter.XY{X: pt.T, Y: y(pt)})
	}
	if len(pts) > 0 {
		if line, err := plotter.NewLine(pts); err == nil {
			line.Width = vg.Points(1.5)
			p.Add(line, plotter.NewGrid())
		}
	}
	return p
}
