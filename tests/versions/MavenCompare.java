// Test oracle: reads "a<TAB>b" lines, prints ComparableVersion(a).compareTo(ComparableVersion(b))
// as -1/0/1, one line each. Run with: java -cp maven-artifact-3.9.x.jar MavenCompare.java
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import org.apache.maven.artifact.versioning.ComparableVersion;

public class MavenCompare {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintWriter out = new PrintWriter(System.out, false, StandardCharsets.UTF_8);
        String line;
        while ((line = in.readLine()) != null) {
            String[] pair = line.split("\t", -1);
            int c = new ComparableVersion(pair[0]).compareTo(new ComparableVersion(pair[1]));
            out.println(Integer.signum(c));
        }
        out.flush();
    }
}
