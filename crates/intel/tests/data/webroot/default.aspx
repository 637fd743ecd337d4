<%@ Page Language="C#" %>
<html><body>Hello, <%= DateTime.Now %></body></html>
