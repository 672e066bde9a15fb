// The market page's behaviour beyond what htmx does: the price chart (lightweight-charts),
// the viewer's own orders marked in the book, tick and lot hints as the trader types (the
// form never rounds by itself: it says which valid values are nearest), the price field
// closed for market orders, and the funding countdown. Live data arrives through htmx's SSE
// extension (trading/live.py); this file only reacts to what it swaps in.
(function () {
  "use strict";

  function chartStart() {
    var box = document.getElementById("price-chart");
    var source = document.getElementById("chart-candles");
    if (!box || !source || !window.LightweightCharts) return;
    var charts = window.LightweightCharts;
    var chart = charts.createChart(box, {
      autoSize: true,
      // the attribution is a link under the chart: the library's own logo brings an inline
      // <style>, which this site's Content Security Policy refuses
      layout: { background: { type: "solid", color: "transparent" }, textColor: "#8b949e", attributionLogo: false },
      timeScale: { timeVisible: true, secondsVisible: false },
    });
    var candles = chart.addSeries(charts.CandlestickSeries, {});
    var volume = chart.addSeries(charts.HistogramSeries, {
      priceFormat: { type: "volume" },
      priceScaleId: "",
    });
    volume.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });

    function show(bars) {
      candles.setData(bars.map(function (bar) {
        return { time: bar.time, open: +bar.open, high: +bar.high, low: +bar.low, close: +bar.close };
      }));
      volume.setData(bars.map(function (bar) {
        return { time: bar.time, value: +bar.volume, color: +bar.close >= +bar.open ? "#26a69a80" : "#ef535080" };
      }));
    }
    show(JSON.parse(source.textContent));
    chart.timeScale().fitContent();
    var feed = document.getElementById("chart-feed");
    if (feed) {
      feed.addEventListener("htmx:sseMessage", function (event) {
        show(JSON.parse(event.detail.data));
      });
    }
  }

  // Rows of the book at a price where the viewer has an order get the class "own".
  function markOwn() {
    var mine = document.querySelector("[data-own-prices]");
    var prices = mine ? mine.getAttribute("data-own-prices").split(" ") : [];
    document.querySelectorAll("#order-book tr[data-price]").forEach(function (row) {
      row.classList.toggle("own", prices.indexOf(row.getAttribute("data-price")) >= 0);
    });
  }

  // Exact decimal arithmetic on the typed text: a value and a step as integers at one scale.
  function places(text) {
    var dot = text.indexOf(".");
    return dot < 0 ? 0 : text.length - dot - 1;
  }
  function scaled(text, scale) {
    var parts = text.split(".");
    var fraction = (parts[1] || "").padEnd(scale, "0");
    return BigInt(parts[0] || "0") * 10n ** BigInt(scale) + BigInt(fraction || "0");
  }
  function shown(units, scale) {
    var text = units.toString().padStart(scale + 1, "0");
    if (!scale) return text;
    var whole = text.slice(0, -scale), fraction = text.slice(-scale).replace(/0+$/, "");
    return fraction ? whole + "." + fraction : whole;
  }
  function stepHint(text, step, what) {
    if (!/^\d*\.?\d+$|^\d+\.$/.test(text)) return text ? "Enter a decimal number." : "";
    var scale = Math.max(places(text), places(step));
    var value = scaled(text, scale), unit = scaled(step, scale);
    if (unit === 0n || value % unit === 0n) return "";
    var below = value - (value % unit);
    return "Not a multiple of the " + what + " " + step + ": " + shown(below, scale) + " or " + shown(below + unit, scale) + "?";
  }

  function formWire(form) {
    if (!form || form.dataset.wired) return;
    form.dataset.wired = "1";
    var price = form.querySelector("[name=price]");
    var size = form.querySelector("[name=size]");
    var type = form.querySelector("[name=order_type]");
    function hints() {
      document.getElementById("price-hint").textContent = price.disabled ? "" : stepHint(price.value.trim(), form.dataset.tick, "tick");
      var sizeText = size.value.trim();
      var hint = stepHint(sizeText, form.dataset.lot, "lot");
      if (!hint && sizeText && /^\d*\.?\d+$/.test(sizeText)) {
        var scale = Math.max(places(sizeText), places(form.dataset.minSize));
        if (scaled(sizeText, scale) < scaled(form.dataset.minSize, scale)) hint = "Below the minimum of " + form.dataset.minSize + ".";
      }
      document.getElementById("size-hint").textContent = hint;
    }
    function typeChanged() {
      var market = type && type.value === "market";
      price.disabled = market;
      if (market) price.value = "";
      var tif = form.querySelector("[name=tif]");
      if (tif) tif.disabled = market;
      hints();
    }
    form.addEventListener("input", hints);
    if (type) type.addEventListener("change", typeChanged);
    typeChanged();
  }

  function countdowns() {
    document.querySelectorAll("[data-until-ms]").forEach(function (node) {
      var left = Math.max(0, Math.round((+node.getAttribute("data-until-ms") - Date.now()) / 1000));
      var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      node.textContent = "in " + h + " h " + String(m).padStart(2, "0") + " min " + String(s).padStart(2, "0") + " s";
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    chartStart();
    markOwn();
    formWire(document.querySelector(".order-form"));
    countdowns();
    setInterval(countdowns, 1000);
  });
  document.addEventListener("htmx:afterSwap", function () {
    markOwn();
    formWire(document.querySelector(".order-form"));
  });
  document.addEventListener("htmx:sseMessage", markOwn);
})();
