"""/api/v5/: the OKX v5-compatible API."""

from django.urls import path

from . import account, public, trade

urlpatterns = [
    path("public/instruments", public.InstrumentsView.as_view()),
    path("public/mark-price", public.MarkPriceView.as_view()),
    path("public/funding-rate", public.FundingRateView.as_view()),
    path("public/funding-rate-history", public.FundingRateHistoryView.as_view()),
    path("market/books", public.BooksView.as_view()),
    path("market/ticker", public.TickerView.as_view()),
    path("market/tickers", public.TickersView.as_view()),
    path("market/trades", public.TradesView.as_view()),
    path("market/candles", public.CandlesView.as_view()),
    path("trade/order", trade.PlaceOrderView.as_view()),
    path("trade/batch-orders", trade.BatchOrdersView.as_view()),
    path("trade/cancel-order", trade.CancelOrderView.as_view()),
    path("trade/cancel-batch-orders", trade.CancelBatchOrdersView.as_view()),
    path("trade/amend-order", trade.AmendOrderView.as_view()),
    path(
        "trade/orders-pending",
        trade.OrdersView.as_view(pending=True, rate_limit=(60, 2.0)),
    ),
    path(
        "trade/orders-history",
        trade.OrdersView.as_view(pending=False, rate_limit=(40, 2.0)),
    ),
    path("trade/fills", trade.FillsView.as_view()),
    path("trade/fills-history", trade.FillsView.as_view()),
    path("account/balance", account.BalanceView.as_view()),
    path("account/positions", account.PositionsView.as_view()),
    path("asset/currencies", account.AssetCurrenciesView.as_view()),
]
