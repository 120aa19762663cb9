package dev.wmss.train.method;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * How the project's plots look: legends below the plot (a legend beside it took 60% of the width), one y axis per
 * panel, and small multiples stacked under one title of their own (quantities of different scales in panels of
 * their own, not on two axes of one plot, where curves of different units look level with each other).
 */
public final class Charts {
    private Charts() {}

    public static final int WIDTH = 900;

    /** An XY chart with the house style: legend below, no markers' clutter, the given size. */
    public static XYChart xy(String title, String x, String y, int height) {
        XYChart c = new XYChartBuilder().width(WIDTH).height(height).title(title).xAxisTitle(x).yAxisTitle(y).build();
        c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        c.getStyler().setLegendLayout(Styler.LegendLayout.Horizontal);
        c.getStyler().setMarkerSize(4);
        c.getStyler().setChartTitleFont(new Font(Font.SANS_SERIF, Font.PLAIN, 15));
        return c;
    }

    /** Panels stacked top to bottom under a title (wrapped to the width), written as one PNG. */
    public static void saveStacked(String title, List<? extends Chart<?, ?>> panels, Path png) throws IOException {
        List<BufferedImage> images = new java.util.ArrayList<>();
        for (Chart<?, ?> c : panels) images.add(BitmapEncoder.getBufferedImage(c));
        int width = images.stream().mapToInt(BufferedImage::getWidth).max().orElse(WIDTH);
        Font font = new Font(Font.SANS_SERIF, Font.BOLD, 17);
        BufferedImage probe = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB);
        FontMetrics fm = probe.createGraphics().getFontMetrics(font);
        List<String> lines = wrap(title, fm, width - 40);
        int titleHeight = 16 + lines.size() * (fm.getHeight() + 2);
        int height = titleHeight + images.stream().mapToInt(BufferedImage::getHeight).sum();
        BufferedImage out = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, width, height);
        g.setColor(Color.BLACK);
        g.setFont(font);
        int y = 10 + fm.getAscent();
        for (String l : lines) {
            g.drawString(l, (width - fm.stringWidth(l)) / 2, y);
            y += fm.getHeight() + 2;
        }
        y = titleHeight;
        for (BufferedImage im : images) {
            g.drawImage(im, 0, y, null);
            y += im.getHeight();
        }
        g.dispose();
        ImageIO.write(out, "png", png.toFile());
    }

    /** Words of text in lines no wider than max pixels. */
    static List<String> wrap(String text, FontMetrics fm, int max) {
        List<String> lines = new java.util.ArrayList<>();
        StringBuilder line = new StringBuilder();
        for (String w : text.split(" ")) {
            String next = line.isEmpty() ? w : line + " " + w;
            if (fm.stringWidth(next) > max && !line.isEmpty()) {
                lines.add(line.toString());
                line = new StringBuilder(w);
            } else {
                line = new StringBuilder(next);
            }
        }
        if (!line.isEmpty()) lines.add(line.toString());
        return lines;
    }
}
