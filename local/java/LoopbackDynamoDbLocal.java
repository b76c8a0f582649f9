import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

/**
 * Starts DynamoDB Local bound to 127.0.0.1 only. Takes DynamoDBLocal.jar's own command-line options.
 *
 * <p>The jar has no host option: DynamoDBProxyServer builds Jetty's {@code new Server(port)}, whose one
 * ServerConnector has no host and so binds the wildcard address, and neither Jetty nor the jar reads a
 * system property that changes it. This launcher builds the server the way ServerRunner.main does,
 * sets the connector's host before start() binds, then starts it.
 *
 * <p>Compiled once by local/dynamodb-local.ts into node_modules/.cache/billing-dynamodb-local/; run
 * with DynamoDBLocal.jar on the class path (its manifest's Class-Path brings in Jetty and the rest).
 * Any start-up failure (a port taken, a jar whose internals changed) prints why and exits 1.
 */
public final class LoopbackDynamoDbLocal {
  private static final String HOST = "127.0.0.1";

  private LoopbackDynamoDbLocal() {}

  public static void main(String[] args) {
    try {
      DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
      Field field = DynamoDBProxyServer.class.getDeclaredField("server");
      field.setAccessible(true);
      Server server = (Server) field.get(proxy);
      Connector[] connectors = server.getConnectors();
      if (connectors.length == 0) throw new IllegalStateException("the Jetty server has no connector");
      for (Connector connector : connectors) {
        if (!(connector instanceof ServerConnector)) {
          throw new IllegalStateException("unexpected Jetty connector " + connector.getClass().getName());
        }
        ((ServerConnector) connector).setHost(HOST);
      }
      // safeStart() is start() without the telemetry event (we pass -disableTelemetry anyway) and
      // without start()'s own handling of socket errors: every failure reaches the exit below.
      proxy.safeStart();
    } catch (Throwable e) {
      System.err.println("LoopbackDynamoDbLocal: could not start DynamoDB Local on " + HOST + ": " + e);
      for (Throwable cause = e.getCause(); cause != null; cause = cause.getCause()) {
        System.err.println("  caused by: " + cause);
      }
      System.exit(1);
    }
  }
}
